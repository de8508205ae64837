import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate, MigrationError } from '../shared/db/migrator.js';
import { createPool, type Pool } from '../shared/db/pool.js';
import { createLogger } from '../shared/logger.js';
import { projectRoot } from '../shared/project-root.js';
import {
  freePort,
  hasStackTrace,
  serviceEnv,
  startServiceProcess,
  type ServiceProcess,
} from './support/service-process.js';
import { removeTestKeys } from './support/redis-keys.js';
import { createEmptyDatabase, databaseUrlFor, dropDatabase } from './support/test-database.js';

const MIGRATIONS = fs.readdirSync(path.join(projectRoot(), 'migrations')).filter((file) => file.endsWith('.sql')).sort();

async function query<R extends Record<string, any>>(database: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrlFor(database) });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

async function waitForHealth(port: number, service: ServiceProcess, timeoutMs = 30_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) throw new Error(`exited ${service.child.exitCode}:\n${service.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.status === 200) return response.json();
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no /health on ${port} within ${timeoutMs} ms:\n${service.output()}`);
}

/** Whether a TCP connection to host:port is accepted (refused or unreachable: false). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The API's "listening on" log line, parsed. */
function listeningLine(output: string): { msg: string; address: string; port: number; url: string; low_priority_helper_threads: number } {
  const line = output.split('\n').find((text) => text.includes('"listening on '));
  if (!line) throw new Error(`no "listening on" line in:\n${output}`);
  return JSON.parse(line);
}

describe('startup (real processes)', function () {
  this.timeout(60_000);
  const running: ServiceProcess[] = [];
  const databases: string[] = [];
  const prefixes: string[] = [];

  function start(env: Record<string, string>): ServiceProcess {
    const service = startServiceProcess(env);
    running.push(service);
    prefixes.push(...[env.QUEUE_PREFIX, env.RATE_LIMIT_PREFIX].filter((prefix): prefix is string => prefix !== undefined));
    return service;
  }

  afterEach(async () => {
    for (const service of running.splice(0)) {
      service.kill();
      await service.exited;
    }
    for (const database of databases.splice(0)) await dropDatabase(database);
    // The processes have ended: nothing writes under their prefixes any more.
    await removeTestKeys(...prefixes.splice(0));
  });

  it('refuses bad configuration with one message naming every problem, exit 1, no stack', async () => {
    const service = start({ PORT: 'abc', DATABASE_URL: 'not-a-url', NODE_ENV: 'production', APP_SECRET: 'short' });
    expect(await service.exited).to.equal(1);
    const output = service.output();
    for (const name of ['PORT', 'DATABASE_URL', 'APP_SECRET']) expect(output, output).to.include(name);
    expect(hasStackTrace(output), output).to.equal(false);
    expect(output).not.to.include('short', 'the secret itself is not echoed');
  });

  it('retries an unreachable database with a clear line, then fails with exit 1 and no stack', async () => {
    const port = await freePort();
    const service = start(
      serviceEnv('postgres://postgres@127.0.0.1:1/nothing_here', port, { DB_CONNECT_TIMEOUT_MS: '1500' }),
    );
    const started = Date.now();
    expect(await service.exited).to.equal(1);
    expect(Date.now() - started).to.be.below(20_000);
    const output = service.output();
    expect(output, output).to.match(/not reachable.*retrying/);
    expect(output, output).to.match(/cannot connect to PostgreSQL/);
    expect(hasStackTrace(output), output).to.equal(false);
  });

  it('migrates a fresh database, serves /health on PORT, and exits 0 on SIGTERM', async () => {
    const database = await createEmptyDatabase('us_start');
    databases.push(database);
    const port = await freePort();
    const service = start(serviceEnv(databaseUrlFor(database), port));
    expect(await waitForHealth(port, service)).to.deep.equal({ status: 'ok' });
    // Without HOST it binds every interface, and says so.
    const listening = listeningLine(service.output());
    expect(listening.msg).to.match(new RegExp(`^listening on every interface \\((::|0\\.0\\.0\\.0)\\) on port ${port}: http://localhost:${port}$`));
    expect(listening.low_priority_helper_threads).to.be.a('number');
    expect(await accepts('127.0.0.2', port), 'another loopback address').to.equal(true);

    const applied = await query<{ name: string }>(database, 'SELECT name FROM schema_migrations ORDER BY name');
    expect(applied.map((row) => row.name)).to.deep.equal(MIGRATIONS);
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(ready.status).to.equal(200);

    service.child.kill('SIGTERM');
    expect(await service.exited).to.equal(0);
    expect(hasStackTrace(service.output()), service.output()).to.equal(false);
  });

  it('with HOST=127.0.0.1 binds only there, and its log line names the address and a URL for it', async () => {
    const database = await createEmptyDatabase('us_start');
    databases.push(database);
    const port = await freePort();
    const service = start(serviceEnv(databaseUrlFor(database), port, { HOST: '127.0.0.1' }));
    expect(await waitForHealth(port, service)).to.deep.equal({ status: 'ok' });
    const listening = listeningLine(service.output());
    expect(listening.msg).to.equal(`listening on 127.0.0.1:${port}: http://127.0.0.1:${port}`);
    expect(listening).to.include({ address: '127.0.0.1', port, url: `http://127.0.0.1:${port}` });
    expect((await fetch(`${listening.url}/health`)).status).to.equal(200);
    // Every other address of this machine is refused: another loopback address, ::1, and the outward-facing ones (link-local aside).
    const others = ['127.0.0.2', '::1', ...Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).filter((entry) => !entry.internal && !entry.address.startsWith('fe80:')).map((entry) => entry.address))];
    for (const host of others) expect(await accepts(host, port), host).to.equal(false);
    service.child.kill('SIGTERM');
    expect(await service.exited).to.equal(0);
  });

  it('refuses a HOST that is neither an IP address nor a host name', async () => {
    const service = start(serviceEnv('postgres://postgres@127.0.0.1:1/unused', await freePort(), { HOST: 'http://0.0.0.0' }));
    expect(await service.exited).to.equal(1);
    expect(service.output()).to.include('HOST must be an IP address');
  });

  it('lets two processes start at once on one fresh database: both serve, each migration applied once', async () => {
    const database = await createEmptyDatabase('us_start');
    databases.push(database);
    const ports = [await freePort(), await freePort()];
    const prefix = serviceEnv('', 0).QUEUE_PREFIX!;
    const services = ports.map((port) => start(serviceEnv(databaseUrlFor(database), port, { QUEUE_PREFIX: prefix })));
    await Promise.all(services.map((service, i) => waitForHealth(ports[i]!, service)));

    const rows = await query<{ name: string; times: number }>(
      database,
      'SELECT name, count(*)::int AS times FROM schema_migrations GROUP BY name ORDER BY name',
    );
    expect(rows).to.deep.equal(MIGRATIONS.map((name) => ({ name, times: 1 })));

    for (const service of services) service.child.kill('SIGTERM');
    expect(await Promise.all(services.map((service) => service.exited))).to.deep.equal([0, 0]);
  });
});

describe('migrator', () => {
  let database: string;
  let dir: string;
  let pool: Pool;
  const log = createLogger('silent');

  beforeEach(async () => {
    database = await createEmptyDatabase('us_migrate');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-migrations-'));
    fs.writeFileSync(path.join(dir, '001_first.sql'), 'CREATE TABLE first (id int);');
    fs.writeFileSync(path.join(dir, '002_second.sql'), 'CREATE TABLE second (id int);');
    fs.writeFileSync(path.join(dir, 'README.md'), 'not a migration');
    pool = createPool({ url: databaseUrlFor(database), poolMax: 4, connectTimeoutMs: 5_000 });
  });

  afterEach(async () => {
    await pool.end();
    fs.rmSync(dir, { recursive: true, force: true });
    await dropDatabase(database);
  });

  async function expectRefusal(pattern: RegExp): Promise<void> {
    const error = await migrate(pool, dir, log).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(MigrationError);
    expect((error as Error).message).to.match(pattern);
  }

  it('applies pending files in order, once', async () => {
    expect(await migrate(pool, dir, log)).to.deep.equal(['001_first.sql', '002_second.sql']);
    expect(await migrate(pool, dir, log)).to.deep.equal([]);
    fs.writeFileSync(path.join(dir, '003_third.sql'), 'CREATE TABLE third (id int);');
    expect(await migrate(pool, dir, log)).to.deep.equal(['003_third.sql']);
  });

  it('refuses to run when an applied file was changed, and applies nothing else', async () => {
    await migrate(pool, dir, log);
    fs.appendFileSync(path.join(dir, '001_first.sql'), '\n-- an innocent comment');
    fs.writeFileSync(path.join(dir, '003_third.sql'), 'CREATE TABLE third (id int);');
    await expectRefusal(/001_first\.sql was changed/);
    const { rows } = await pool.query("SELECT to_regclass('third') AS third");
    expect(rows[0].third).to.equal(null);
  });

  it('refuses to run when an applied file is missing', async () => {
    await migrate(pool, dir, log);
    fs.rmSync(path.join(dir, '002_second.sql'));
    await expectRefusal(/002_second\.sql .*missing/);
  });

  it('rolls a failing migration back whole and does not record it', async () => {
    fs.writeFileSync(path.join(dir, '003_broken.sql'), 'CREATE TABLE half (id int);\nCREATE TABLE oops (;');
    await expectRefusal(/003_broken\.sql failed/);
    const { rows } = await pool.query("SELECT to_regclass('half') AS half, to_regclass('second') AS second");
    expect(rows[0]).to.deep.equal({ half: null, second: 'second' });
    const ledger = await pool.query('SELECT name FROM schema_migrations ORDER BY name');
    expect(ledger.rows.map((row) => row.name)).to.deep.equal(['001_first.sql', '002_second.sql']);
  });

  it('applies each file once when several migrators run at the same time', async () => {
    const pools = Array.from({ length: 4 }, () => createPool({ url: databaseUrlFor(database), poolMax: 1, connectTimeoutMs: 5_000 }));
    try {
      const results = await Promise.all(pools.map((each) => migrate(each, dir, log)));
      expect(results.flat().sort()).to.deep.equal(['001_first.sql', '002_second.sql']);
    } finally {
      await Promise.all(pools.map((each) => each.end()));
    }
  });
});
