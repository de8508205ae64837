import { expect } from 'chai';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../shared/config/config.js';
import { registerScrapeGauges } from '../shared/metrics/scrape-collector.js';
import { projectRoot } from '../shared/project-root.js';
import { randomEmail, request, strongPassword } from './support/http.js';
import { declaredMetrics, metricsLintProblems, parseSamples, promtool, type Sample } from './support/prometheus.js';
import { removeTestKeys } from './support/redis-keys.js';
import { freePort, serviceEnv, startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { createMigratedDatabase, databaseUrlFor, dropDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const OPS = path.join(projectRoot(), 'ops');
const P = 'user_services_';

/** The series issue 11 asks every install to carry (with the common prefix). */
const REQUIRED_SERIES = [
  'http_request_duration_seconds',
  'login_attempts_total',
  'argon2_queue_depth',
  'argon2_wait_seconds',
  'argon2_rejected_total',
  'bullmq_jobs',
  'outbox_unpublished_rows',
  'outbox_set_aside_rows',
  'outbox_oldest_unpublished_age_seconds',
  'relay_published_total',
  'relay_confirm_duration_seconds',
  'relay_leader',
  'reactions_pending',
  'reactions_given_up',
  'mails_sent_total',
  'mails_failed_total',
  // Node's default process metrics.
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_heap_size_used_bytes',
].map((name) => `${P}${name}`);

/** The sum of a series' samples whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** The names of the series a PromQL expression reads (this service's, and Prometheus's own `up`). */
function seriesNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\b(user_services_[a-z0-9_]+|up)\b/g)].map((match) => match[1]!);
}

/** Whether a name an expression reads is declared: itself, or a histogram's _bucket, _sum or _count. */
function isDeclared(declared: Map<string, string>, name: string): boolean {
  if (name === 'up' || declared.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return declared.get(base) === 'histogram';
}

/** The TCP ports a process listens on, as `ss` sees them. */
async function listeningPorts(pid: number): Promise<number[]> {
  const { stdout } = await promisify(execFile)('ss', ['-ltnpH']);
  // LISTEN 0 511 127.0.0.1:9461 0.0.0.0:* users:(("node",pid=123,fd=20))
  return stdout
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => Number(line.trim().split(/\s+/)[3]!.split(':').pop()));
}

describe('metrics: /metrics on METRICS_PORT (issue 11)', function () {
  this.timeout(120_000);
  let database: string;
  let service: ServiceProcess;
  let apiPort: number;
  let metricsPort: number;
  let prefix: string;
  let db: pg.Pool;
  const api = () => `http://127.0.0.1:${apiPort}`;

  async function scrape(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.status).to.equal(200);
    return response.text();
  }

  const samples = async () => parseSamples(await scrape());

  before(async function () {
    this.timeout(90_000);
    database = await createMigratedDatabase();
    db = new pg.Pool({ connectionString: databaseUrlFor(database), max: 2 });
    apiPort = await freePort();
    metricsPort = await freePort();
    const env = serviceEnv(databaseUrlFor(database), apiPort, { METRICS_PORT: String(metricsPort), MIGRATE_ON_START: 'false' });
    prefix = env.QUEUE_PREFIX!;
    service = startServiceProcess(env);
    await service.waitFor(`metrics on http://127.0.0.1:${metricsPort}/metrics`, 60_000);
    await service.waitFor('relay acquired the leader lock', 60_000);
    await service.waitFor('"listening on ', 60_000);
  });

  after(async function () {
    this.timeout(60_000);
    if (service) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    await db?.end();
    if (database) await dropDatabase(database);
    if (prefix) await removeTestKeys(prefix);
  });

  it('serves an exposition promtool check metrics accepts, but for prom-client\'s three known _total gauges', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    expect(await metricsLintProblems(await response.text())).to.deep.equal([]);
  });

  it('declares every series the operators need, Node\'s process metrics included', async () => {
    const declared = declaredMetrics(await scrape());
    expect(REQUIRED_SERIES.filter((name) => !declared.has(name))).to.deep.equal([]);
    expect(declared.get(`${P}http_request_duration_seconds`)).to.equal('histogram');
    expect(declared.get(`${P}argon2_wait_seconds`)).to.equal('histogram');
    expect(declared.get(`${P}relay_confirm_duration_seconds`)).to.equal('histogram');
    expect(declared.get(`${P}login_attempts_total`)).to.equal('counter');
  });

  it('counts a successful login and a wrong password in login_attempts_total', async () => {
    const email = randomEmail();
    const password = strongPassword();
    expect((await request('POST', '/register', { baseUrl: api(), json: { email, password } })).status).to.equal(201);
    const name = `${P}login_attempts_total`;
    const before = await samples();

    expect((await request('POST', '/login', { baseUrl: api(), json: { email, password } })).status).to.equal(200);
    const afterSuccess = await samples();
    expect(total(afterSuccess, name, { result: 'success' }) - total(before, name, { result: 'success' })).to.equal(1);

    expect((await request('POST', '/login', { baseUrl: api(), json: { email, password: `${password}-wrong` } })).status).to.equal(401);
    const afterFailure = await samples();
    expect(total(afterFailure, name, { step: 'password', result: 'invalid_credentials' }) - total(afterSuccess, name, { result: 'invalid_credentials' })).to.equal(1);
    expect(total(afterFailure, name, { result: 'success' })).to.equal(total(afterSuccess, name, { result: 'success' }));
    // Both passwords were hashed through the limiter: their waits are in the histogram.
    expect(total(afterFailure, `${P}argon2_wait_seconds_count`) - total(before, `${P}argon2_wait_seconds_count`)).to.equal(2);
  });

  it('times HTTP requests under their route template, and an unknown path under a fixed label', async () => {
    const email = randomEmail();
    const password = strongPassword();
    await request('POST', '/register', { baseUrl: api(), json: { email, password } });
    const { body } = await request('POST', '/login', { baseUrl: api(), json: { email, password } });
    const sessionId = crypto.randomUUID();
    const ended = await request('DELETE', `/me/sessions/${sessionId}`, { baseUrl: api(), headers: { authorization: `Bearer ${body.token}` } });
    expect(ended.status).to.equal(404);
    const strayPath = `/no-such-route-${crypto.randomBytes(4).toString('hex')}`;
    expect((await fetch(`${api()}${strayPath}`)).status).to.equal(404);

    const exposition = await scrape();
    const found = parseSamples(exposition);
    const count = `${P}http_request_duration_seconds_count`;
    expect(total(found, count, { route: '/me/sessions/:id', method: 'DELETE', status: '404' })).to.equal(1);
    expect(total(found, count, { route: '/login', method: 'POST', status: '200' })).to.be.greaterThan(0);
    expect(total(found, count, { route: 'unmatched', method: 'GET', status: '404' })).to.be.greaterThan(0);
    expect(exposition).not.to.include(sessionId);
    expect(exposition).not.to.include(strayPath);
  });

  it('shows queued jobs in bullmq_jobs and the relay\'s publishes and mails in their counters', async () => {
    const name = `${P}bullmq_jobs`;
    const before = await samples();
    expect(new Set(before.filter((sample) => sample.name === name).map((sample) => sample.labels.queue))).to.deep.equal(new Set(['email', 'audit', 'anomaly']));
    const completedMails = (found: Sample[]) => total(found, name, { queue: 'email', state: 'completed' });
    const email = randomEmail();
    expect((await request('POST', '/register', { baseUrl: api(), json: { email, password: strongPassword() } })).status).to.equal(201);

    // The verification mail's job goes through the email queue and is kept as completed.
    // The publish is waited for too: a mail of the previous test's may still be arriving.
    const published = (found: Sample[]) => total(found, `${P}relay_published_total`, { result: 'confirmed' });
    const after = await waitFor('the verification job in bullmq_jobs, its mail and its event counted', async () => {
      const found = await samples();
      const mailed = total(found, `${P}mails_sent_total`, { kind: 'send-verification-mail' }) > total(before, `${P}mails_sent_total`, { kind: 'send-verification-mail' });
      return completedMails(found) > completedMails(before) && mailed && published(found) > published(before) ? found : undefined;
    });
    expect(published(after)).to.be.greaterThan(published(before));
    expect(total(after, `${P}relay_confirm_duration_seconds_count`)).to.be.greaterThan(0);
    expect(total(after, `${P}relay_leader`)).to.equal(1);
  });

  it('shows an unpublished outbox row, a set-aside row and a given-up reaction in the backlog gauges', async () => {
    const leased = crypto.randomUUID();
    const setAside = crypto.randomUUID();
    const givenUp = crypto.randomUUID();
    const payload = JSON.stringify({ note: 'metrics test row' });
    // Leased by "another relay" for an hour, so this relay leaves it alone: it stays unpublished.
    await db.query(
      `INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, created_at, locked_until)
       VALUES ($1, $1, 'user.events', 'UserRegistered', $2, now() - interval '1 hour', now() + interval '1 hour')`,
      [leased, payload],
    );
    await db.query(
      `INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, failed_at, attempts, last_error)
       VALUES ($1, $1, 'user.events', 'UserRegistered', $2, now(), 10, 'metrics test')`,
      [setAside, payload],
    );
    await db.query(
      `INSERT INTO reactions (event_id, job_name, payload, completed_at, given_up_at, last_error)
       VALUES ($1, 'write-audit-log', $2, now(), now(), 'metrics test')`,
      [givenUp, payload],
    );
    try {
      const found = await samples();
      expect(total(found, `${P}outbox_unpublished_rows`)).to.equal(1);
      expect(total(found, `${P}outbox_oldest_unpublished_age_seconds`)).to.be.within(3_590, 3_700);
      expect(total(found, `${P}outbox_set_aside_rows`)).to.equal(1);
      expect(total(found, `${P}reactions_given_up`)).to.equal(1);
    } finally {
      await db.query('DELETE FROM outbox WHERE event_id = ANY($1::uuid[])', [[leased, setAside]]);
      await db.query('DELETE FROM reactions WHERE event_id = $1', [givenUp]);
    }
    const cleared = await samples();
    expect(total(cleared, `${P}outbox_unpublished_rows`)).to.equal(0);
    expect(total(cleared, `${P}outbox_oldest_unpublished_age_seconds`)).to.equal(0);
    expect(total(cleared, `${P}reactions_given_up`)).to.equal(0);
  });

  it('is not served on the public API port', async () => {
    const response = await fetch(`${api()}/metrics`);
    expect(response.status).to.equal(404);
    expect(await response.text()).not.to.include('user_services_');
  });

  it('serves nothing but GET /metrics on its own port', async () => {
    expect((await fetch(`http://127.0.0.1:${metricsPort}/`)).status).to.equal(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status).to.equal(404);
    const posted = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' });
    expect(posted.status).to.equal(405);
    expect(posted.headers.get('allow')).to.equal('GET, HEAD');
  });

  it('is all the alert rules and the Grafana dashboard read: every series they name is declared', async () => {
    const declared = declaredMetrics(await scrape());

    const dashboard = JSON.parse(fs.readFileSync(path.join(OPS, 'grafana/user-services.json'), 'utf8')) as { title: string; panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const dashboardExprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
    expect(dashboardExprs.length).to.be.greaterThan(5);
    const alertExprs = [...fs.readFileSync(path.join(OPS, 'prometheus/alerts.yml'), 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map((match) => match[1]!);
    expect(alertExprs).to.have.length(8);

    const unknown = [...dashboardExprs, ...alertExprs].flatMap((expr) => seriesNamesIn(expr).filter((name) => !isDeclared(declared, name)).map((name) => `${name} in ${expr}`));
    expect(unknown).to.deep.equal([]);
    for (const expr of dashboardExprs) expect(seriesNamesIn(expr), expr).not.to.be.empty;
  });

  it('starts no metrics listener when METRICS_PORT is unset', async () => {
    const port = await freePort();
    const env = serviceEnv(databaseUrlFor(database), port, { MIGRATE_ON_START: 'false', WORKER_QUEUES: 'audit' });
    const quiet = startServiceProcess(env);
    try {
      await quiet.waitFor('"listening on ', 60_000);
      await quiet.waitFor('worker role started', 60_000);
      expect(await listeningPorts(quiet.child.pid!)).to.deep.equal([port]);
      expect(quiet.output()).not.to.include('metrics on');
    } finally {
      quiet.child.kill('SIGTERM');
      await quiet.exited;
      await removeTestKeys(env.QUEUE_PREFIX!);
    }
  });
});

describe('metrics: METRICS_PORT and METRICS_HOST configuration', () => {
  const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig({ NODE_ENV: 'test', ...env });
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('is off unless METRICS_PORT is set, and binds 127.0.0.1 by default', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).metrics).to.deep.equal({ port: undefined, host: '127.0.0.1' });
    expect(loadConfig({ NODE_ENV: 'test', METRICS_PORT: '9461', METRICS_HOST: '0.0.0.0' }).metrics).to.deep.equal({ port: 9461, host: '0.0.0.0' });
  });

  it('refuses the public port, a port out of range and a host that is no address', () => {
    expect(problemsOf({ PORT: '8001', METRICS_PORT: '8001' })).to.deep.equal(['METRICS_PORT must differ from PORT (8001): /metrics is never served on the public port']);
    expect(problemsOf({ METRICS_PORT: '70000' })).to.deep.equal(['METRICS_PORT must be between 1 and 65535, got 70000']);
    expect(problemsOf({ METRICS_PORT: 'nine' })).to.deep.equal(['METRICS_PORT must be an integer, got "nine"']);
    expect(problemsOf({ METRICS_PORT: '9461', METRICS_HOST: 'not a host' })[0]).to.match(/^METRICS_HOST must be an IP address/);
  });
});

describe('metrics: scrape-time gauges', () => {
  it('report no value, not a stale or zero one, while their source fails, and log it once', async () => {
    const registry = new Registry();
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    let answer: () => Promise<number> = () => Promise.resolve(7);
    let reads = 0;
    registerScrapeGauges(
      registry,
      'test-source',
      () => (reads++, answer()),
      [
        { name: 'test_backlog_rows', help: 'Rows.', samples: (rows: number) => [{ labels: {}, value: rows }] },
        { name: 'test_jobs', help: 'Jobs.', labelNames: ['state'] as const, samples: (rows: number) => [{ labels: { state: 'waiting' }, value: rows }] },
      ],
      log,
    );
    expect(parseSamples(await registry.metrics())).to.deep.equal([
      { name: 'test_backlog_rows', labels: {}, value: 7 },
      { name: 'test_jobs', labels: { state: 'waiting' }, value: 7 },
    ]);
    // One read serves every gauge of a scrape.
    expect(reads).to.equal(1);

    answer = () => Promise.reject(new Error('connection refused'));
    for (let scrape = 0; scrape < 2; scrape += 1) {
      const found = parseSamples(await registry.metrics());
      expect(found.map((sample) => sample.name)).to.deep.equal(['test_backlog_rows']);
      expect(found[0]!.value).to.be.NaN;
    }
    expect(lines.filter((line) => line.includes('metrics source did not answer'))).to.have.length(1);
    expect(lines[0]).to.include('connection refused');

    answer = () => Promise.resolve(3);
    expect(parseSamples(await registry.metrics()).map((sample) => sample.value)).to.deep.equal([3, 3]);
    expect(lines.filter((line) => line.includes('metrics source answers again'))).to.have.length(1);
    expect(reads).to.equal(4);
  });
});

describe('metrics: the ops/ files', () => {
  it('passes promtool check rules and promtool test rules', async () => {
    const checked = await promtool(['check', 'rules', path.join(OPS, 'prometheus/alerts.yml')]);
    expect(checked.output).to.include('SUCCESS');
    expect(checked.code, checked.output).to.equal(0);
    const tested = await promtool(['test', 'rules', path.join(OPS, 'prometheus/alerts.test.yml')]);
    expect(tested.code, tested.output).to.equal(0);
    expect(tested.output).to.include('SUCCESS');
  });

  it('has a Prometheus config promtool accepts', async () => {
    const checked = await promtool(['check', 'config', path.join(OPS, 'prometheus/prometheus.yml')]);
    expect(checked.code, checked.output).to.equal(0);
  });

});
