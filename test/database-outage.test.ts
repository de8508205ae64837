import net from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { testDatabase } from './support/hooks.js';
import { request } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { databaseUrlFor } from './support/test-database.js';

/**
 * A TCP relay in front of this machine's PostgreSQL that can cut every connection and
 * refuse new ones, as a restart or failover does, without touching the shared server.
 */
async function startCuttableRelay(target: URL) {
  let cut = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect({ host: target.hostname, port: Number(target.port || 5432) });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => open.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    setCut(value: boolean) {
      cut = value;
      if (value) for (const socket of open) socket.destroy();
    },
    close: () => new Promise<void>((resolve) => (server.close(() => resolve()), open.forEach((socket) => socket.destroy()))),
  };
}

describe('PostgreSQL away (restart, failover)', () => {
  const lines: { level: string; msg: string }[] = [];
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: string; msg: string });
      done();
    },
  });
  let relay: Awaited<ReturnType<typeof startCuttableRelay>>;
  let app: TestApp;

  before(async () => {
    relay = await startCuttableRelay(new URL(databaseUrlFor(testDatabase())));
    const url = new URL(databaseUrlFor(testDatabase()));
    url.host = `127.0.0.1:${relay.port}`;
    app = await startTestApp(testDatabase(), { DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' }, capture);
  });
  after(async () => {
    await app?.close();
    await relay?.close();
  });

  // Regression (chaos harness, pg-restart): every request that met the restart was a 500
  // with a stack trace logged per request.
  it('answers 503 unavailable with Retry-After, logs the outage once at warn, and its end once', async () => {
    const login = () => request('POST', '/login', { baseUrl: app.url, json: { email: 'nobody@example.com', password: 'not the password at all' } });
    expect((await login()).status).to.equal(401);
    relay.setCut(true);
    for (let i = 0; i < 3; i += 1) {
      const response = await login();
      expect(response.status).to.equal(503);
      expect(response.body.error.code).to.equal('unavailable');
      expect(response.headers.get('retry-after')).to.match(/^\d+$/);
    }
    expect(lines.filter((line) => line.msg.includes('PostgreSQL is unreachable'))).to.have.length(1);
    expect(lines.filter((line) => line.level === 'error')).to.deep.equal([]);
    relay.setCut(false);
    expect((await login()).status).to.equal(401);
    expect((await login()).status).to.equal(401);
    expect(lines.filter((line) => line.msg.includes('PostgreSQL is reachable again'))).to.have.length(1);
  });
});
